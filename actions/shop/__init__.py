"""What differs between shops: the profile (`profile`), order numbers as customers write them
(`order_numbers`), money and dates in the shop's locale (`formatting`), countries and postal
codes (`addresses`)."""
