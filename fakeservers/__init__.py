"""Stateful fakes of the Smile.io v1 and ShopSocially Loyalty v2 REST APIs over the loyaltykit core."""
