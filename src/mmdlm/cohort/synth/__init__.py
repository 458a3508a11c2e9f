"""mmdlm.cohort.synth: the synthetic ccRCC demo cohort writer (study files, slides, radiology, truth)."""
