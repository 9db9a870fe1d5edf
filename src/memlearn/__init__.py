"""memlearn: simulate memristor crossbars and train neural networks on the chip."""
__version__ = "0.1.0"
