"""mmdlm.slides"""
