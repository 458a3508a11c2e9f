"""mmdlm.explain: why the model ranked a patient high or low.

- gradcam:   `gradcam(model, inputs, mask)` -> Grad-CAM map per image branch (captum LayerGradCam)
- overlay:   `blend_cam`, `save_png`, `write_gallery` (highest / lowest risk patients)
- markup:    `TileScorer`, `SlideTileDataset`, `score_slide`, `score_tiles` (sliding-window inference)
- tilesource: markup tiles from the slide's tile store when it holds exactly the markup grid, else the slide
- classes:   per-tile classes, colours and certainty (5YSS alive / deceased, Cox risk quantiles)
- render:    the markup drawn on the slide thumbnail (+ legend)
- qupath:    `markup_geojson`, `geojson_errors`, `write_geojson` (QuPath-importable GeoJSON)
- wsi:       `markup_slide` (all of the above for one slide, files written)
- attention: modality attention summary and plot from RUN/predictions.csv
- patients, run: a run directory's explanations (`explain_run`), used by `mmdlm explain`
"""
