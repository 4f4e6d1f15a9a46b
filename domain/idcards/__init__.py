"""居民身份证异地受理: a resident ID card applied for at any police window, decided and produced by
the hukou place's police, sent back to the applying window and collected there; a temporary
ID card issued at the applying place when asked (docs/extending.md, recipe 2)."""
