r"""The code of ``docs/training.rst`` runs as written: pre-training,
fine-tuning and linear evaluation from Python."""
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).parents[1] / 'docs' / 'training.rst'


def code_blocks(text: str):
    r"""The ``.. code-block:: python`` blocks of a reST page, dedented."""
    blocks = re.findall(r'\.\. code-block:: python\n\n((?:    .*\n|\n)+)',
                        text)
    return [re.sub(r'^    ', '', block, flags=re.M) for block in blocks]


def test_code_blocks_are_found():
    blocks = code_blocks('.. code-block:: python\n\n    a = 1\n\n    b = 2\n'
                         'text\n')
    assert blocks == ['a = 1\n\nb = 2\n']


@pytest.mark.docs
def test_training_page_runs(tmp_path, monkeypatch):
    blocks = code_blocks(PAGE.read_text())
    assert len(blocks) == 6
    monkeypatch.chdir(tmp_path)
    scope = {}
    for block in blocks:
        exec(compile(block, str(PAGE), 'exec'), scope)
    from torch_skeleton_mae.engine import FinetuneResult, PretrainResult
    assert isinstance(scope['result'], PretrainResult)
    assert len(scope['result'].history) == 1
    assert 0 <= scope['result'].probe.top1 <= 1
    assert isinstance(scope['tuned'], FinetuneResult)
    assert scope['tuned'].report.confusion.sum() == len(scope['data'].val)
    for name in ('pretrain/last.pt', 'pretrain/probe.json',
                 'finetune/last.pt', 'finetune/finetune_eval.json',
                 'linear/linear_eval.json'):
        assert (tmp_path / 'runs' / 'python' / name).is_file(), name
    fusion = scope['fusion']
    assert fusion.streams == ['joint', 'bone'] and fusion.chosen == 'held-out'
    assert (tmp_path / 'runs' / 'python' / 'streams' / 'fusion.json'
            ).is_file()
    # The page's folder now holds a run: running it again is refused.
    from torch_skeleton_mae.engine.training import SetupError
    with pytest.raises(SetupError, match='holds an earlier pretrain run'):
        exec(compile(blocks[2], str(PAGE), 'exec'), scope)
