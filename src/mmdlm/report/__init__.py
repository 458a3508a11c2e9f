"""mmdlm.report"""
