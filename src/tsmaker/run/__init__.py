"""Running a training set.

The pipeline, where partition tasks execute (threads, Dask, SLURM), and streaming the
finished partitions into the product's files.
"""
