// Flat indices over 2D dispatches of 64-wide workgroups: the host spreads large counts over x
// and y (x-major) to stay under the per-dimension workgroup limit.

// One invocation per element, from the workgroup id and the local index.
fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + li;
}

// The same from the global invocation id.
fn flat_global(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * 64u + gid.x;
}

// One workgroup per item (a row, say).
fn flat_group(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}
