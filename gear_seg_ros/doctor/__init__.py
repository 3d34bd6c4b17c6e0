"""`gear-seg doctor`: can this machine run this config? ROS-free; one module per check family.

backends (imports and versions of the backends the config uses), gpu (driver, CUDA torch, onnxruntime providers,
TensorRT), models (files and sha256 against models/manifest.yaml), exports (ONNX exports and TensorRT engine
folders), llama (how llama.cpp was built, CPU AMX), ros_check (rclpy + gear_seg_msgs, in a subprocess).
The node's configure runs the same `run_checks` and refuses to start on any `fail`.
"""
from gear_seg_ros.doctor.core import FAIL, OK, SKIP, WARN, Check, failures, report
from gear_seg_ros.doctor.run import run_checks

__all__ = ["FAIL", "OK", "SKIP", "WARN", "Check", "failures", "report", "run_checks"]
