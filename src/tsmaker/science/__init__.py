"""The science of a training set.

Photometry (magnitudes, dereddening), dust sources and maps, and the train/test split.
"""
