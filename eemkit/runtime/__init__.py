"""eemkit.runtime"""
