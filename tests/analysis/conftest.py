from __future__ import annotations

import pytest

from mmtrial.analysis.fixtures import published_study, write_adam_dir


@pytest.fixture(scope="session")
def published_frames():
    return published_study()


@pytest.fixture
def published_csv_dir(tmp_path, published_frames):
    return write_adam_dir(published_frames, tmp_path / "adam", fmt="csv")
