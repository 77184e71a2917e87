import datetime
from pathlib import Path

import torch_skeleton_mae
from torch_skeleton_mae.engine.recipes import recipe_table

# The recipe tables of protocols.rst, made from the recipes themselves.
generated = Path(__file__).parent / '_generated'
generated.mkdir(exist_ok=True)
for protocol in ('pretrain', 'finetune', 'linear'):
    (generated / f'recipes_{protocol}.rst').write_text(
        recipe_table(protocol))

project = 'torch_skeleton_mae'
author = 'torch_skeleton_mae contributors'
copyright = f'{datetime.date.today().year}, {author}'
version = release = torch_skeleton_mae.__version__

extensions = [
    'sphinx.ext.autodoc',
    'sphinx.ext.autosummary',
    'sphinx.ext.napoleon',
    'sphinx.ext.mathjax',
    'sphinx.ext.viewcode',
    'sphinx_copybutton',
]
autosummary_generate = False
autodoc_member_order = 'bysource'
autodoc_typehints = 'none'
autodoc_default_options = {'members': True, 'show-inheritance': False}
napoleon_custom_sections = [('Shapes', 'params_style')]
exclude_patterns = ['_build', '_generated']
# A theme for API docs with wide content: code blocks and tables keep their
# right-hand ends.
html_theme = 'furo'
html_title = f'torch_skeleton_mae {release}'
html_static_path = ['_static']
html_css_files = ['custom.css']
html_extra_path = []

suppress_warnings = ["ref.python"]

# Nitpicky: every cross-reference must resolve (the CI builds with -n -W).
nitpicky = True
nitpick_ignore_regex = [
    # ``:obj:`` marks inline literals in PyG's docstring style
    # (:obj:`True`, :obj:`(N, C, T, V, M)`), not cross-references.
    ('py:obj', r'(?s).*'),
    # Napoleon's words for argument kinds.
    ('py:class', r'optional|callable|sequence|string'),
    # Other projects' objects: the build machines reach no intersphinx
    # inventory (no network), so these stay unlinked.
    ('py:(class|func|meth|mod)',
     r'(torch|torch_geometric|torch_sparse|np|numpy|argparse|os|random|pathlib|'
     r'pickle|_pickle)(\..*)?'),
    ('py:class',
     r'Tensor|Module|Batch|DataLoader|Dataset|Sampler|PathLike|Optimizer|array'),
    # Private bases (a class's 'Bases:' line names them), not documented.
    ('py:class', r'torch_skeleton_mae(\..*)?\._\w+'),
]
