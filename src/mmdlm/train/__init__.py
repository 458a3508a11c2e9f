"""mmdlm.train"""
