"""eemkit.cli"""
