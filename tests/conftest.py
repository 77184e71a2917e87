import importlib.util

import pytest
import torch

HAS_TORCH_SPARSE = importlib.util.find_spec('torch_sparse') is not None


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(12345)
