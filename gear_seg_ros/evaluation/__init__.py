"""Evaluation: readers (LISA/ReasonSeg JSON, labelme, parquet, COCO), gIoU / cIoU / ncIoU, COCO mAP, error
attribution (segmentation ceiling), import/export of the reference output layout, and the runner behind
`gear-seg eval`. Submodules are imported on use; nothing here loads a model."""
