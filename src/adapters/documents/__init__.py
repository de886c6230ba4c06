"""Printable documents: invoices rendered as PDF with fpdf2 (pure Python, no system libraries)."""

from adapters.documents.invoice_pdf import FpdfInvoiceRenderer, format_money

__all__ = ["FpdfInvoiceRenderer", "format_money"]
