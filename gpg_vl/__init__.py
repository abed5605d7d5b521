"""gpg_vl: Group Policy Gradient (arXiv 2504.02546) for vision-language models.

`import gpg_vl` is cheap: it never imports vLLM, DeepSpeed or the model classes.
"""

__version__ = "0.1.0"
