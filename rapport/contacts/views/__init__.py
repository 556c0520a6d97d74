"""The contacts app's pages: lists, create forms, trash, and the 360° contact and company pages."""
