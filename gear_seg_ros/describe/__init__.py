"""Stage 2: one dense description per mask, plus one for the whole scene."""
from gear_seg_ros.describe.base import Describer

DESCRIBERS = {
    "attributes": "gear_seg_ros.describe.attributes:AttributeDescriber",
    "dam": "gear_seg_ros.describe.dam:DamDescriber",
    "dam_server": "gear_seg_ros.describe.dam_server:DamServerDescriber",
    "openai_vlm": "gear_seg_ros.describe.openai_vlm:OpenAIVlmDescriber",
}

__all__ = ["DESCRIBERS", "Describer"]
