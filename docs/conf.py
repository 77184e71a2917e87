import datetime

import torch_skeleton_mae

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
exclude_patterns = ['_build']
# A theme for API docs with wide content: code blocks and tables keep their
# right-hand ends.
html_theme = 'furo'
html_title = f'torch_skeleton_mae {release}'
html_static_path = ['_static']
html_extra_path = []
nitpicky = False
suppress_warnings = ['ref.python']
