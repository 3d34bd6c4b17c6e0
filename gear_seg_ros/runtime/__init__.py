"""Inference sessions for exported models: ONNX Runtime (CPU, CUDA or TensorRT provider) and TensorRT engines.

Both expose the part of onnxruntime's InferenceSession API the backends use (`run(output_names, feed)` with numpy
arrays in and out), so a segmenter or describer swaps one for the other by configuration alone.
"""
