"""The science of a training set: photometry (magnitudes, dereddening), dust sources and
maps, and the train/test split."""
