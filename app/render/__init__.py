"""Server-side rendering of the page: SVG fragments, PNG heatmaps and contour maps."""
