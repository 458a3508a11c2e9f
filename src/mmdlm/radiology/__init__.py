"""mmdlm.radiology"""
