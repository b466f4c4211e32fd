"""The only package that imports torch/transformers: data loading, model loading, fine-tuning."""
