package audit

// SetSmallLimits makes the cursor chunks and the group cap small, so that
// small fixtures cross every chunk boundary; the returned func restores
// them. Tests using it must not run in parallel.
func SetSmallLimits(chunkMin, chunkMax, groups int) (restore func()) {
	a, b, c := minChunk, maxChunk, maxGroups
	minChunk, maxChunk, maxGroups = chunkMin, chunkMax, groups
	return func() { minChunk, maxChunk, maxGroups = a, b, c }
}
