import { Global, Module } from '@nestjs/common';
import { Clock } from './clock.js';

/** One clock for the whole application, so that a test that moves it moves every reading of the time. */
@Global()
@Module({ providers: [Clock], exports: [Clock] })
export class ClockModule {}
