"""eemkit.eval"""
