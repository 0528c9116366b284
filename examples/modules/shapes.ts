// SPDX-License-Identifier: MIT
// Types for the helpers a TypeScript rule imports (see rule.ts): geometry.js's point in a
// polygon, given its signature here (a .ts module may import a .js one).
import { inside as insideUntyped } from './geometry.js';

export interface Point { x: number; y: number }
export type Polygon = readonly (readonly [number, number])[];

export const inside: (p: Point, polygon: Polygon) => boolean = insideUntyped;
