"""eemkit.data"""
