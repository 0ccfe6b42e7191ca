"""eemkit.demo"""
