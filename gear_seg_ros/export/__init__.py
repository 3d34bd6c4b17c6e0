"""Model export: SAM 2 to ONNX (`sam2_onnx`) and ONNX to TensorRT engines (`trt`).

Nothing here is imported by the agent at run time; torch / sam2 / tensorrt are imported inside the functions.
"""
