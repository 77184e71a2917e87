from setuptools import find_packages, setup

install_requires = [
    'torch>=2.1',
    'torch-geometric>=2.5',
    'numpy>=1.23',
    'tqdm>=4.60',
]

extras_require = {
    'test': ['pytest>=7.0', 'tensorboard>=2.10', 'scipy>=1.8'],
    'real': ['scipy>=1.8'],  # Penn Action's MATLAB files
    'sparse': ['torch-scatter>=2.1', 'torch-sparse>=0.6.17'],
    'viz': ['matplotlib>=3.6'],
    'docs': ['sphinx>=7.0', 'furo', 'sphinx-copybutton', 'matplotlib>=3.6'],
}

setup(
    name='torch_skeleton_mae',
    version='0.2.0',
    description=('SkeletonMAE: graph-based masked autoencoder pre-training '
                 'for skeleton sequences, as a PyTorch Geometric extension'),
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='MIT',
    python_requires='>=3.10',
    packages=find_packages(include=['torch_skeleton_mae',
                                    'torch_skeleton_mae.*']),
    package_data={'torch_skeleton_mae': ['datasets/resources/*.txt',
                                        'weights/*.pt']},
    install_requires=install_requires,
    extras_require=extras_require,
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
