/* candor-types.h — forward declarations of the app's types, so headers need not include
 * each other. */
#pragma once

#include <adwaita.h>

#include "loom.h"

G_BEGIN_DECLS

typedef struct _CandorApplication       CandorApplication;
typedef struct _CandorCanvas            CandorCanvas;
typedef struct _CandorDeviceStatus      CandorDeviceStatus;
typedef struct _CandorDocument          CandorDocument;
typedef struct _CandorIllustration      CandorIllustration;
typedef struct _CandorIllustrationsView CandorIllustrationsView;
typedef struct _CandorModelBanner       CandorModelBanner;
typedef struct _CandorPicturePaintable  CandorPicturePaintable;
typedef struct _CandorPreferencesWindow CandorPreferencesWindow;
typedef struct _CandorStoryText         CandorStoryText;
typedef struct _CandorStoryView         CandorStoryView;
typedef struct _CandorSuggestionController CandorSuggestionController;
typedef struct _CandorWindow            CandorWindow;

G_END_DECLS
