// SPDX-License-Identifier: MIT
// An ES module rule: it imports its helpers by relative path (read once, when the program is
// made) and exports the function plugbox calls.
//   plugbox run --call process --data frame.json examples/modules/rule.js
//   gst-launch-1.0 ... ! plugboxfilter location=examples/modules/rule.js ! ...
import { inside } from './geometry.js';

const zone = [[0, 0], [320, 0], [320, 240], [0, 240]];
let frames = 0;

export function process(buffer) {
    frames++;
    const centre = { x: (buffer.caps?.width ?? 0) / 2, y: (buffer.caps?.height ?? 0) / 2 };
    if (frames === 5)
        return { message: { frames, centre_in_zone: inside(centre, zone) } };
}
