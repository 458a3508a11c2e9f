"""mmdlm.evaluate"""
