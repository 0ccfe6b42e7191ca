"""eemkit.bench"""
