"""mmdlm.cli"""
