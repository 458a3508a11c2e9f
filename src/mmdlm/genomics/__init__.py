"""mmdlm.genomics"""
