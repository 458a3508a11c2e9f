"""mmdlm.explain"""
