"""mmdlm.genomics: MAF / GISTIC CNA tables or a ready alteration table -> the top-N 0/1 alteration matrix."""
