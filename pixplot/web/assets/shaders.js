// GLSL for the map: one instanced quad per item; the atlas cell comes from the item index.

export const FLAG = { SELECTED: 1, EXCLUDED: 2, HIDDEN: 4, DIM: 8 };

export const VERT = `#version 300 es
layout(location=0) in vec2 aCorner;
layout(location=1) in vec2 aFrom;
layout(location=2) in vec2 aTo;
layout(location=3) in vec4 aColor;
layout(location=4) in uint aFlags;
layout(location=5) in vec2 aCell;
uniform float uT;
uniform vec2 uCenter;
uniform float uK;
uniform vec2 uHalf;
uniform float uSize;
uniform float uMinPx;
uniform int uBase;
uniform int uHover;
uniform int uMode;
uniform int uPerAtlas;
uniform int uCols;
uniform float uCellSize;
uniform vec2 uSheet;
out vec2 vUv;
out vec2 vLocal;
out vec4 vColor;
flat out uint vFlags;
flat out int vHover;
void main() {
  int idx = uBase + gl_InstanceID;
  vFlags = aFlags;
  vColor = aColor;
  vHover = idx == uHover ? 1 : 0;
  vLocal = aCorner;
  vUv = vec2(0.0);
  if ((aFlags & 4u) != 0u) { gl_Position = vec4(2.0, 2.0, 2.0, 1.0); return; }
  vec2 p = mix(aFrom, aTo, uT);
  vec2 cell = aCell.x > 0.0 ? aCell : vec2(uCellSize);
  vec2 aspect = cell / max(cell.x, cell.y);
  float px = max(uSize * uK, uMinPx) * (vHover == 1 ? 1.3 : 1.0);
  vec2 s = (p - uCenter) * uK + (aCorner - 0.5) * px * aspect;
  gl_Position = vec4(s / uHalf, 0.0, 1.0);
  vec2 t = vec2(aCorner.x, 1.0 - aCorner.y);
  if (uMode == 0) {
    int c = idx % uPerAtlas;
    vec2 origin = vec2(float(c % uCols), float(c / uCols)) * uCellSize + floor((vec2(uCellSize) - cell) * 0.5);
    vUv = (origin + mix(vec2(0.5), cell - 0.5, t)) / uSheet;
  } else {
    vUv = t;
  }
}`;

export const FRAG = `#version 300 es
precision highp float;
precision highp int;
in vec2 vUv;
in vec2 vLocal;
in vec4 vColor;
flat in uint vFlags;
flat in int vHover;
uniform sampler2D uTex;
uniform int uMode;
uniform float uFrame;
uniform float uDpr;
out vec4 outColor;
void main() {
  vec2 fw = max(fwidth(vLocal), vec2(1e-6));
  float d = min(min(vLocal.x, 1.0 - vLocal.x) / fw.x, min(vLocal.y, 1.0 - vLocal.y) / fw.y);
  vec4 c = uMode == 2 ? vec4(vColor.rgb, 1.0) : texture(uTex, vUv);
  if (uMode != 2 && vColor.a > 0.0 && d < uFrame * uDpr) c = vec4(vColor.rgb, 1.0);
  if ((vFlags & 2u) != 0u) {
    c.rgb = mix(c.rgb * 0.55, vec3(0.9, 0.1, 0.1), 0.35);
    if (uMode != 2 && (abs(vLocal.x - vLocal.y) < 0.05 || abs(vLocal.x + vLocal.y - 1.0) < 0.05)) {
      c.rgb = vec3(0.95, 0.15, 0.15);
    }
  }
  if ((vFlags & 8u) != 0u) c.rgb *= 0.3;
  float bw = 2.0 * uDpr;
  if ((vFlags & 1u) != 0u && d < bw) c.rgb = vec3(1.0, 0.83, 0.0);
  if (vHover == 1 && d < bw) c.rgb = vec3(1.0);
  outColor = vec4(c.rgb, 1.0);
}`;
