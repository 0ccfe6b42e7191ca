"""eemkit.export"""
