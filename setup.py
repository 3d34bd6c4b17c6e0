"""One package for pip (`pip install -e .`) and for colcon (ament_python): the repo root is the ROS package."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "gear_seg_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    description="GEAR-Seg reasoning segmentation agent and ROS 2 node",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    package_data={f"{PACKAGE}.engine.review": ["static/*"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml")),
    ],
    install_requires=["setuptools"],  # runtime dependencies: requirements/*.txt (pinned) or rosdep (package.xml)
    zip_safe=False,
    entry_points={
        "console_scripts": [
            "gear-seg = gear_seg_ros.cli.main:main",
            "gear_seg_agent = gear_seg_ros.ros.agent_node:main",
        ],
    },
)
