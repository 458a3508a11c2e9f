"""mmdlm.data"""
