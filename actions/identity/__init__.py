"""Who the customer is: verified once per conversation, before anything about an order is shown.

`verification` reads identity answers (email, or full name + zip/postcode) and asks the commerce
API; `login` turns the channel's verified login into the conversation's customer;
`customer_token` checks the shop's signed login tokens (the channels call it; tokens are never
stored).
"""
