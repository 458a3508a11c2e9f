"""mmdlm.cohort"""
