"""Customer value and churn (notebook 04): lifetime value, P(alive), survival and drivers of churn."""
