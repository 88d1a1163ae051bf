"""The catalog: products, their visibility and stock, and the cached product list. May
import `apps.core`."""
